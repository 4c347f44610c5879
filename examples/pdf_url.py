"""PDF by URL: the model reads a PDF it is given as a web address and summarises it."""

from __future__ import annotations

from _gateway import connect, finished, with_attachment

PDF_URL = "https://www.berkshirehathaway.com/letters/2024ltr.pdf"

with connect() as gateway:
    letter = {"type": "input_file", "file_url": PDF_URL}
    job = gateway.respond(with_attachment("Summarise this letter in three sentences.", letter))
    print(finished(job).output_text)
