"""callticket: phone calls in, POS tickets out."""
