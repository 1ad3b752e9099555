"""iCalendar (RFC 5545) feeds of agreements and organizations, and their secret feed tokens."""
