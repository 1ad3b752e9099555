"""Legal reviews: internal legal opinions, cabildo approvals, state congress, the SRE dictamen."""
