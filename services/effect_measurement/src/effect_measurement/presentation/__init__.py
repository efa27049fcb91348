"""Pure presentation: exports (CSV, JSON) and SVG charts as strings."""
