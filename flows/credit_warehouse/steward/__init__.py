"""Steward review: the failures of validation made actionable.

``review_data`` reads the failures marts (dbt) into plain data, ``corrections`` writes each
department's correction list (CSV with BOM and XLSX, in Chinese), ``page`` renders the static review
page (inline CSS and SVG, nothing fetched online), ``build`` ties them to a warehouse and a home.
Everything shown comes from masked marts: no ID number leaves the restricted raw layer.
"""
