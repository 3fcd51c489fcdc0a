"""The CPU the benchmark scripts ran on, for every table they write."""


def cpu_model():
    """/proc/cpuinfo's model name with its family, model and stepping: on virtual machines the name
    alone can be as vague as "AMD EPYC", and the family and model say which generation it is."""
    fields = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if not line.strip():
                break  # the first processor's block is enough
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    name = fields.get("model name", "unknown CPU")
    if "cpu family" not in fields:
        return name
    return f"{name} (family {fields['cpu family']}, model {fields.get('model', '?')}, stepping {fields.get('stepping', '?')})"
