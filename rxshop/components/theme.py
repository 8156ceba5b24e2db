"""Radix Themes as the shop uses it: only the colour scales it names, and no whole-library bundle (issue 12)."""

import reflex as rx

# Radix's styles.css is tokens (31 colour scales + base) + components + utilities. Every colour a page can
# show is listed here: the theme's accent and gray, each color_scheme= and rx.color() in rxshop/
# (tests/unit/test_theme.py reads the sources and fails on a colour missing here).
COLOR_SCALES = ("orange", "sand", "gray", "amber", "red", "grass", "blue", "violet")


class ShopThemePlugin(rx.plugins.RadixThemesPlugin):
    """The Radix Themes plugin, importing its stylesheet in parts instead of the whole styles.css."""

    def get_frontend_dependencies(self, **context) -> tuple[str, ...]:
        # Reflex also registers each plugin dependency for dynamic components: the app root then does
        # `import * as radix_ui_themes from "@radix-ui/themes"` (window.__reflex), which keeps every Radix
        # component (tables, dialogs, sliders, ...) in page /'s scripts. The shop has no dynamic components,
        # and the package is still installed: every Radix component declares it as its own library.
        return ()

    def get_stylesheet_paths(self, **context) -> tuple[str, ...]:
        if not self.enabled:
            return ()
        # The order of Radix's own src/styles/index.css: colour scales, base tokens, components, utilities.
        return (
            *(f"@radix-ui/themes/tokens/colors/{name}.css" for name in COLOR_SCALES),
            "@radix-ui/themes/tokens/base.css",
            "@radix-ui/themes/components.css",
            "@radix-ui/themes/utilities.css",
        )
