#pragma once
// "Did you mean" for mistyped names (layer kinds, config keys, options): the closest
// candidate by edit distance, when it is close enough to be a plausible typo.
#include <string>
#include <vector>

namespace kiln {

// Levenshtein distance (insertions, deletions, substitutions; a swap of neighbours counts 1).
size_t edit_distance(const std::string& a, const std::string& b);

// " (did you mean 'conv'?)" for the nearest candidate within max(1, |word| / 3) edits, else "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// "a, b, c or d"
std::string join_or(const std::vector<std::string>& words);

}  // namespace kiln
