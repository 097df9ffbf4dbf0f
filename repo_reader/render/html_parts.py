"""The fixed parts of the HTML report: page skeleton, style sheet and the one small script."""

from __future__ import annotations

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>repo-reader: {title}</title>
<style>{style}</style></head>
<body>
<header><b>repo-reader</b> report of <b>{title}</b> <span class="dim">{summary}</span>
<nav class="jump"><a href="#tour">tour</a> <a href="#map">map</a> <a href="#models">model tree</a>
<a href="#graph">call graph</a></nav></header>
<main><div id="left">
{nav}
</div><div id="source"><div id="current" class="dim">click a location to open the source at that line</div>
{files}
</div></main>
<script>{script}</script>
</body></html>
"""

STYLE = """
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
header { padding: 8px 14px; border-bottom: 1px solid #d0d7de; background: #f6f8fa; }
header .jump a { margin-right: 10px; }
main { display: flex; height: calc(100vh - 58px); }
#left { width: 46%; overflow: auto; padding: 0 14px 40px; border-right: 1px solid #d0d7de; }
#source { flex: 1; overflow: auto; padding: 0 14px 60vh; }
h2 { font-size: 16px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; margin-top: 22px; }
h3 { font-size: 13px; margin: 14px 0 4px; }
ol, ul { padding-left: 20px; margin: 4px 0; }
.stop { margin-bottom: 10px; }
.stop .title { font-weight: 600; }
.summary { font-style: italic; color: #57606a; }
.next, .dim { color: #57606a; }
a { color: #0969da; text-decoration: none; }
a:hover { text-decoration: underline; }
.loc { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; white-space: nowrap; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.role { background: #ddf4ff; border-radius: 8px; padding: 0 6px; font-size: 11px; }
.def { border: 1px solid #d0d7de; border-radius: 6px; padding: 4px 8px; margin: 6px 0; }
.def:target { border-color: #0969da; box-shadow: 0 0 0 2px #b6e3ff; }
.file h3 { position: sticky; top: 0; background: #fff; padding: 6px 0; margin: 0; border-bottom: 1px solid #d0d7de; }
.highlight pre { margin: 0; font-size: 12px; line-height: 1.5; }
.highlight .linenos { color: #8c959f; display: inline-block; width: 4em; text-align: right; padding-right: 1em; user-select: none; }
.highlight span[id] { scroll-margin-top: 30vh; }
.highlight span[id]:target, .highlight span.current { background: #fff8c5; outline: 1px solid #f2cc60; }
#current { position: sticky; top: 0; background: #f6f8fa; padding: 4px; z-index: 1; }
"""

# Marks the line a location link points to and says which it is, so a reader (or a test) can tell.
SCRIPT = """
function showTarget() {
  var id = decodeURIComponent(location.hash.slice(1));
  var old = document.querySelector('.current');
  if (old) old.classList.remove('current');
  var line = id ? document.getElementById(id) : null;
  if (!line || !line.closest('.file')) return;
  line.classList.add('current');
  var file = line.closest('.file').querySelector('h3').textContent;
  var label = document.getElementById('current');
  label.textContent = file + ':' + id.split('-').pop() + '  ' + line.textContent.replace(/^\\s*\\d+/, '').trim();
  label.dataset.target = id;
  line.scrollIntoView({block: 'center'});
}
window.addEventListener('load', showTarget);
window.addEventListener('hashchange', showTarget);
window.addEventListener('DOMContentLoaded', showTarget);
"""
