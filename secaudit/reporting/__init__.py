"""Reports: the data of an agency or province report, HTML/PDF rendering, exports
(XLSX, JSON, OSCAL), the yearly report and the level sheet.
"""
