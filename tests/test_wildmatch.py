""".gitignore matching: git's answers (each row checked with `git check-ignore`), linear time on the
patterns that made a regex backtrack, and a bad pattern skipped with a warning naming its line."""

from __future__ import annotations

import time

import pytest

from repo_reader.scan.ignore import is_ignored, parse_gitignore

# (pattern, path, is the path a folder, git ignores it)
GIT_ANSWERS = [
    ("*.py[cod]", "a.pyc", False, True), ("*.py[cod]", "x/a.pyo", False, True),
    ("*.py[cod]", "a.py", False, False), ("*.py[cod]", "a.pyx", False, False),
    ("/data", "data", True, True), ("/data", "sub/data", True, False),
    ("logs/", "logs", True, True), ("logs/", "a/logs", True, True), ("logs/", "logs", False, False),
    ("foo/**/bar", "foo/bar", False, True), ("foo/**/bar", "foo/a/b/bar", False, True),
    ("foo/**/bar", "xfoo/bar", False, False), ("foo/**/bar", "foo/barx", False, False),
    ("**/foo", "foo", False, True), ("**/foo", "a/b/foo", False, True), ("**/foo", "afoo", False, False),
    ("abc/**", "abc", True, False), ("abc/**", "abc/x", False, True), ("abc/**", "abc/x/y", False, True),
    ("a/**/**/b", "a/b", False, True), ("a/**/**/b", "a/x/y/b", False, True),
    ("[z-a]", "z", False, True), ("[z-a]", "a", False, False), ("[z-a]", "m", False, False),
    ("[a-c-e]", "b", False, True), ("[a-c-e]", "-", False, True), ("[a-c-e]", "e", False, True),
    ("[a-c-e]", "d", False, False),
    ("[]a]", "]", False, True), ("[]a]", "b", False, False), ("[!a]", "a", False, False), ("[!a]", "b", False, True),
    ("[[:digit:]]x", "1x", False, True), ("[[:digit:]]x", "ax", False, False),
    ("\\#note", "#note", False, True), ("\\!keep", "!keep", False, True),
    ("trail\\ ", "trail ", False, True), ("trail\\ ", "trail", False, False),
    ("*a*a*a*a*a*a*a*a*a*a*b", "a" * 43, False, False), ("*a*a*a*a*a*a*a*a*a*a*b", "a" * 42 + "b", False, True),
    ("doc/*.txt", "doc/a.txt", False, True), ("doc/*.txt", "doc/x/a.txt", False, False),
    ("a?c", "abc", False, True), ("a?c", "ac", False, False),
    ("**/x/**/y", "x/y", False, True), ("**/x/**/y", "a/x/b/y", False, True), ("**/x/**/y", "y", False, False),
]


@pytest.mark.parametrize(("pattern", "path", "is_dir", "expected"), GIT_ANSWERS)
def test_matches_as_git_does(pattern: str, path: str, is_dir: bool, expected: bool) -> None:
    rules, _ = parse_gitignore(pattern + "\n", "")
    assert is_ignored(path, is_dir, rules) is expected


def test_the_last_matching_rule_wins_and_nested_files_apply_below_their_folder() -> None:
    rules, problems = parse_gitignore("*.log\n!keep.log\n", "")
    nested, _ = parse_gitignore("/local.py\n", "sub")
    assert problems == []
    assert is_ignored("a.log", False, rules) and not is_ignored("keep.log", False, rules)
    assert is_ignored("sub/local.py", False, rules + nested) and not is_ignored("local.py", False, rules + nested)


def test_bad_patterns_are_skipped_with_a_warning_naming_the_line() -> None:
    rules, problems = parse_gitignore("ok.py\n[!]\n[\\]\nx[[:nope:]]\nend\\\n[z-a]\n", "")
    assert problems == [
        "line 2: pattern '[!]' skipped (unterminated `[` at column 1)",
        "line 3: pattern '[\\\\]' skipped (unterminated `[` at column 1)",
        "line 4: pattern 'x[[:nope:]]' skipped (unknown character class [:nope:])",
        "line 5: pattern 'end\\\\' skipped (ends with a lone backslash)",
        "line 6: in pattern '[z-a]', the range z-a is reversed (only 'z' matches, as in git)",
    ]
    assert len(rules) == 2 and is_ignored("ok.py", False, rules)


@pytest.mark.parametrize("pattern", ["*a*a*a*a*a*a*a*a*a*a*b", "**/" * 30 + "x", "x/" + "**/a/" * 30 + "b",
                                     "*" + "?*" * 40 + "b"])
def test_pathological_patterns_take_linear_time(pattern: str) -> None:
    rules, _ = parse_gitignore(pattern + "\n", "")
    start = time.perf_counter()
    for path in ["a" * 43, "/".join("a" * 43), "x/" + "/".join("a" * 60), "a" * 2000]:
        assert not is_ignored(path, False, rules)
    assert time.perf_counter() - start < 1.0  # a regex translation took 41 s on the first name alone
