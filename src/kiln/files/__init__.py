"""Files kiln keeps: written to a temporary name beside them and renamed into place, and the
leftovers of a killed run."""
