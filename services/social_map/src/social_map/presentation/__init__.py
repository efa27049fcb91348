"""Pure renderers (strings in, strings out): iCalendar feed and printable agenda."""
