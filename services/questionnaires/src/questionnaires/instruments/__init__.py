"""Demo instruments shipped with the service, in the project's own wording (JSON data files).

Licensed instrument texts are never shipped here; tenants load those as data.
"""
