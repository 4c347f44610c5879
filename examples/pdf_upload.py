"""Local PDF through the Files API: a PDF from disk is uploaded, then the model answers it."""

from __future__ import annotations

from _gateway import RESOURCES, connect, finished

from client.core import message_with_files

with connect() as gateway:
    document = gateway.files.upload(RESOURCES / "exercises.pdf")
    print(f"uploaded {document['filename']} as {document['id']}")
    job = finished(
        gateway.respond(message_with_files("Solve the exercises in this file.", [document]))
    )
    print(job.output_text)
