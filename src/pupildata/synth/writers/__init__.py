"""Writers of each sender's format: census XML and the CSV returns."""
