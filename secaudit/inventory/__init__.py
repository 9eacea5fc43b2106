"""The inventory: agencies, systems and declared hosts (models, field labels), and their
YAML/XLSX files in and out of the workspace.
"""
