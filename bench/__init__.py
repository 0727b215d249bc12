"""`make bench`: the figures that decide speed on Lambda, each measured beside its floor in the same run.

Cold start, AWS calls per page and per API request, warm latency, scale and package size, against an
embedded moto server in its own process (so its work never counts as the app's), printed as one table and
written as JSON. README's Performance section says how to read them; ``python -m bench --help`` lists the
options.
"""
