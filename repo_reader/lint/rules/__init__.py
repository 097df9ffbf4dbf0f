"""Rule families, one module or package each: structure (RR1xx), mode (RR2xx), data (RR3xx),
optimisation (RR4xx), performance (RR5xx). Each exports RULES."""
