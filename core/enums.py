"""The raw-zone contract's vocabularies and lateness, defined once (docs/CONTRACT.md).

Ordered tuples: features derive one column per value in this order, the generator indexes
them; the validator takes them as sets. The tests keep an independent reading of the contract
(tests/test_generator.py), so a wrong value here cannot pass unseen.
"""

from __future__ import annotations

# A record lands at most this many days after its event day; older ones are quarantined.
LATENESS_DAYS = 3

ENDPOINTS = ("messages", "batches")
STATUSES = (200, 400, 429, 500, 529)
IP_TYPES = ("residential", "mobile", "business", "education", "datacenter", "vpn_proxy")
TOPICS = (
    "coding",
    "math_reasoning",
    "agentic_tools",
    "data_analysis",
    "writing",
    "chat",
    "vision",
    "translation",
    "other",
)
SIGNUP_CHANNELS = (
    "self_serve",
    "education",
    "startup_program",
    "research_program",
    "enterprise_sales",
    "reseller",
)
TIERS = ("free", "build", "scale", "enterprise")  # in order: tier_rank 0..3
ACTIONS = ("ban", "suspend", "reinstate")
ENFORCEMENT_REASONS = ("distillation", "payment_fraud", "other_abuse", "appeal_granted")
# What the ingest derives from an email domain (quality/privacy.email_domain_class).
EMAIL_DOMAIN_CLASSES = ("edu", "freemail", "other")
