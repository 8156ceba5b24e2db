"""The trimmed Radix stylesheet keeps every colour scale the sources name (else that colour renders blank)."""

import ast
from pathlib import Path

from rxshop.components.theme import COLOR_SCALES, ShopThemePlugin

REPO = Path(__file__).resolve().parents[2]
# Radix Themes 3's colour scales (node_modules/@radix-ui/themes/tokens/colors/*.css).
RADIX_SCALES = set(
    "gray mauve slate sage olive sand tomato red ruby crimson pink plum purple violet iris indigo blue cyan"
    " teal jade green grass brown orange sky mint lime yellow amber gold bronze".split()
)


def colour_literals() -> dict[str, set[str]]:
    """Every string constant in the app's sources that is exactly a Radix colour scale name, by file."""
    found: dict[str, set[str]] = {}
    for path in [REPO / "rxconfig.py", *sorted((REPO / "rxshop").rglob("*.py"))]:
        if path.name == "theme.py":  # the list itself
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and node.value in RADIX_SCALES:
                found.setdefault(node.value, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_colour_named_in_the_sources_is_imported() -> None:
    used = colour_literals()
    missing = {name: files for name, files in used.items() if name not in COLOR_SCALES}
    assert not missing, f"add these scales to COLOR_SCALES in rxshop/components/theme.py: {missing}"
    # The theme's own accent and gray are found too (rxconfig.py), so the scan is looking where it should.
    assert {"orange", "sand"} <= used.keys()


def test_the_stylesheet_is_radix_in_parts() -> None:
    sheets = ShopThemePlugin().get_stylesheet_paths()
    assert sheets[-3:] == (
        "@radix-ui/themes/tokens/base.css",
        "@radix-ui/themes/components.css",
        "@radix-ui/themes/utilities.css",
    )
    assert {s.rsplit("/", 1)[1].removesuffix(".css") for s in sheets[:-3]} == set(COLOR_SCALES)
    assert set(COLOR_SCALES) <= RADIX_SCALES
