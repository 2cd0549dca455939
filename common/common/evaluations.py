"""培训评价: what a trainee may say stood out in a class, as codes (attendance keeps the
evaluations; the gateway refuses other codes at the edge)."""
ASPECTS = ("content", "teachers", "facilities", "organisation", "usefulness")
