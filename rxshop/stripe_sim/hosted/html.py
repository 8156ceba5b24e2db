"""HTML building blocks of the hosted page: style, accessible fields (label, hint, error), the document."""

from __future__ import annotations

from html import escape

_STYLE = """
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1a1a1a; background: #f6f7f9; }
.banner { background: #fff4c2; color: #3d2c00; border-bottom: 2px solid #8a6d00; padding: .75rem 1rem;
          text-align: center; }
.banner p { margin: 0; }
main { max-width: 34rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
.card { background: #fff; border: 1px solid #d0d4da; border-radius: .5rem; padding: 1rem 1.25rem;
        margin-bottom: 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 0 0 .75rem; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .4rem .25rem; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
tfoot th, tfoot td { font-weight: 700; border-bottom: 0; }
.desc { display: block; color: #4a4f57; font-size: .9rem; }
.field { margin-bottom: 1rem; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
.optional { font-weight: 400; color: #4a4f57; }
input { width: 100%; font: inherit; padding: .6rem .7rem; border: 1px solid #6b7280; border-radius: .375rem;
        color: #1a1a1a; background: #fff; }
input[readonly] { background: #eef0f3; }
input[aria-invalid="true"] { border: 2px solid #b00020; }
.hint { margin: .25rem 0 0; color: #4a4f57; font-size: .9rem; }
.field-error { margin: .25rem 0 0; color: #b00020; font-weight: 600; }
.alert:empty, .notice:empty { display: none; }
.alert { border: 2px solid #b00020; background: #fdecee; color: #7a0016; border-radius: .375rem;
         padding: .75rem 1rem; margin-bottom: 1rem; font-weight: 600; }
.notice { border-left: 4px solid #0a2540; padding: .5rem 1rem; background: #fff; }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; }
button, .button { font: inherit; font-weight: 600; border-radius: .375rem; padding: .7rem 1.4rem; cursor: pointer;
                  min-height: 2.75rem; display: inline-block; text-decoration: none; }
.primary { background: #0a2540; color: #fff; border: 2px solid #0a2540; }
.primary:hover { background: #163a63; }
.secondary { background: #fff; color: #0a2540; border: 2px solid #0a2540; }
:focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; }
details { margin-top: 1rem; }
summary { cursor: pointer; font-weight: 600; }
code { font-size: .95em; }
select { width: 100%; font: inherit; padding: .6rem .7rem; border: 1px solid #6b7280; border-radius: .375rem;
         background: #fff; color: #1a1a1a; }
select[aria-invalid="true"] { border: 2px solid #b00020; }
fieldset { border: 1px solid #d0d4da; border-radius: .375rem; padding: .5rem .75rem; margin: 0 0 1rem; }
legend { font-weight: 600; padding: 0 .25rem; }
.choice { display: flex; gap: .5rem; align-items: center; padding: .25rem 0; }
.choice input { width: auto; }
.choice label { font-weight: 400; margin: 0; }
.inline { display: flex; gap: .5rem; align-items: flex-end; }
.inline .field { flex: 1; margin-bottom: 0; }
.custom-text { color: #1a1a1a; }
@media (max-width: 400px) { main { padding: 1rem .75rem 2rem; } .card { padding: .75rem; }
                            .actions button { width: 100%; } }
"""


def field(
    name: str,
    label: str,
    value: str,
    errors: dict[str, str],
    *,
    input_type: str = "text",
    autocomplete: str = "",
    inputmode: str = "",
    required: bool = False,
    readonly: bool = False,
    optional: bool = False,
    hint: str = "",
) -> str:
    error = errors.get(name)
    described = []
    hint_html = error_html = ""
    if hint:
        described.append(f"{name}-hint")
        hint_html = f'<p class="hint" id="{name}-hint">{escape(hint)}</p>'
    if error:
        described.append(f"{name}-error")
        error_html = f'<p class="field-error" id="{name}-error">{escape(error)}</p>'
    attributes = [f'id="{name}"', f'name="{name}"', f'type="{input_type}"', f'value="{escape(value)}"']
    if autocomplete:
        attributes.append(f'autocomplete="{autocomplete}"')
    if inputmode:
        attributes.append(f'inputmode="{inputmode}"')
    if required:
        attributes.append('required aria-required="true"')
    if readonly:
        attributes.append("readonly")
    if error:
        attributes.append('aria-invalid="true"')
    if described:
        attributes.append(f'aria-describedby="{" ".join(described)}"')
    optional_html = ' <span class="optional">(optional)</span>' if optional else ""
    return (
        f'<div class="field"><label for="{name}">{label}{optional_html}</label>'
        f"<input {' '.join(attributes)}>{hint_html}{error_html}</div>"
    )


def document(title: str, content: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(title)} · Test checkout (simulated)</title>
<style>{_STYLE}</style>
</head>
<body>
<header class="banner">
  <p><strong>Test checkout — simulated, no money moves.</strong> This page is the rxshop Stripe simulator,
  not Stripe.</p>
</header>
<main id="main">
{content}
</main>
</body>
</html>
"""


def select(name: str, label: str, options: list[tuple[str, str]], value: str, errors: dict[str, str]) -> str:
    """A labelled <select>; `options` are (value, text) pairs."""
    error = errors.get(name)
    attributes = [
        f'id="{name}"',
        f'name="{name}"',
        'required aria-required="true"',
        f'autocomplete="{_AUTO.get(name, "off")}"',
    ]
    error_html = ""
    if error:
        attributes += ['aria-invalid="true"', f'aria-describedby="{name}-error"']
        error_html = f'<p class="field-error" id="{name}-error">{escape(error)}</p>'
    choices = "".join(
        f'<option value="{escape(v)}"{" selected" if v == value else ""}>{escape(text)}</option>'
        for v, text in options
    )
    return (
        f'<div class="field"><label for="{name}">{label}</label>'
        f"<select {' '.join(attributes)}>{choices}</select>{error_html}</div>"
    )


def radios(name: str, legend: str, options: list[tuple[str, str]], value: str, errors: dict[str, str]) -> str:
    """A fieldset of radio buttons, each with its own label; the legend names the group."""
    error = errors.get(name)
    error_html = f'<p class="field-error" id="{name}-error">{escape(error)}</p>' if error else ""
    described = f' aria-describedby="{name}-error"' if error else ""
    items = "".join(
        f'<div class="choice"><input type="radio" id="{name}-{i}" name="{name}" value="{escape(v)}"'
        f'{" checked" if v == value else ""}{described}><label for="{name}-{i}">{escape(text)}</label></div>'
        for i, (v, text) in enumerate(options)
    )
    return f'<fieldset class="field"><legend>{legend}</legend>{items}{error_html}</fieldset>'


_AUTO = {"shipping_country": "shipping country"}
