//! Cards as the rest of Payrail may see them: parsed, checked and never printed.
