"""Local PDF through the Files API: a PDF from disk is uploaded, then the model answers it."""

from __future__ import annotations

from _gateway import RESOURCES, connect, finished

with connect() as gateway:
    document = gateway.files.upload(RESOURCES / "exercises.pdf")
    print(f"uploaded {document['filename']} as {document['id']}")
    job = gateway.respond(
        [
            {
                "role": "user",
                "content": [
                    {"type": "input_file", "file_id": document["id"]},
                    {"type": "input_text", "text": "Solve the exercises in this file."},
                ],
            }
        ]
    )
    print(finished(job).output_text)
