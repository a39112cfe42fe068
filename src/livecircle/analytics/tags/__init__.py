"""User tags: interest (categories watched, clicked, bought) and consumption (spend, frequency,
price band), from rules an operator edits; each tag keeps the reason, with the numbers.

Members can opt out of profiling-based marketing: ``service.profiling_allowed`` is what every
marketing list must be filtered through.
"""
