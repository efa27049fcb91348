"""Pure rendering of questionnaire results: strings in, strings out (SVG, HTML)."""
