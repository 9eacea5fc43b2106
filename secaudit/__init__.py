"""secaudit: information-security compliance and audit for Vietnamese state agencies.

Inventory of information systems, requirements as data (Kế hoạch 04-KH/BCĐTW, Kế hoạch
92A/KH-UBND, Nghị định 331/2026/NĐ-CP), nmap scans kept as evidence, and evidence reports.
"""

__version__ = "0.1.0"
