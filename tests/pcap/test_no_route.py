"""No route: a config without a default route; net unreachable, no route back."""

from suite import case_suite
from packets import NO_DEFAULT_CONFIG, no_route_cases

CASES = no_route_cases()

globals().update(case_suite(CASES, NO_DEFAULT_CONFIG))
