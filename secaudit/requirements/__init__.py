"""Requirements: checklist content and profiles as validated data, applicability conditions,
answers, evidence links and the assessment that turns them into statuses.
"""
