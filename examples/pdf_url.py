"""PDF by URL: the model reads a PDF it is given as a web address and summarises it."""

from __future__ import annotations

from _gateway import connect, finished

PDF_URL = "https://www.berkshirehathaway.com/letters/2024ltr.pdf"

with connect() as gateway:
    job = gateway.respond(
        [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Summarise this letter in three sentences."},
                    {"type": "input_file", "file_url": PDF_URL},
                ],
            }
        ]
    )
    print(finished(job).output_text)
