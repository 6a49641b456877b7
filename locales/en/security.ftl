# Security controls (docs/SECURITY.md).

security-code-attempts = Too many wrong codes in the last hour. Please try again later, or scan the QR code instead.
security-guard-venue-limit = This venue has used its { $limit } status checks for this hour. Ask the visitor to check in with their own phone, or try again later.
security-guard-venue-day-limit = This venue has used its { $limit } status checks for today. Ask the visitor to check in with their own phone.
security-staff-seats = This venue already has { $limit } staff members, the most allowed. Ask the owner to remove someone first.
security-guard-spike = Unusually many status checks by IIN at { $venue } (venue { $venue_id }): { $count } in the last hour. Please make sure every check was made with the visitor's consent.
