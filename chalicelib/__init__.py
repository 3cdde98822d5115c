"""Help-desk rules service: every inquiry becomes exactly one ticket."""
