"""Python values to experiment-file settings ("optimizer.lr=0.01"), read by kiln's own parser."""
import json
import numbers


def toml_value(key, value):
    """The TOML text of a setting's value: a string quoted, a bool as true/false, a number as is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(key, v) for v in value) + "]"
    raise ValueError(f"{key}: expected a number, a bool, a string or a list of them, got {type(value).__name__}")


def overrides(settings):
    """["section.key=value", ...] from {"section.key": value}."""
    if settings is None:
        return []
    if not isinstance(settings, dict):
        raise ValueError(f"set: expected a dict of experiment keys, like {{'train.epochs': 3}}, got {type(settings).__name__}")
    out = []
    for key, value in settings.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"set: keys are experiment keys like 'optimizer.lr', got {key!r}")
        out.append(f"{key}={toml_value(key, value)}")
    return out
