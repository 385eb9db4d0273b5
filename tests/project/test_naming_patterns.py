"""Name patterns: what is wrong with one is said as it is (CLI audit of 2026-12-07)."""

import pytest

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.project.naming import check_pattern


@pytest.mark.parametrize("pattern, said", [
    ("{stem!r}", "writes {stem!r}: fields take no format or conversion; write {stem}"),
    ("{stem:>10}_{method}", "writes {stem:>10}: fields take no format or conversion; write {stem}"),
    ("{sample}", "uses {sample}, which is not a field"),
])
def test_a_pattern_that_is_not_usable_says_why(pattern, said):
    with pytest.raises(InputError) as refused:
        check_pattern(pattern)
    assert said in str(refused.value)
    assert check_pattern("{stem}_{method}") == "{stem}_{method}"
