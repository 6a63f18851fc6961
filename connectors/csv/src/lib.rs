//! Price lists and leads from CSV files, with a column mapping and errors by line.
