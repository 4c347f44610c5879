"""Local image upload: a picture from disk is uploaded to the gateway, then described."""

from __future__ import annotations

from _gateway import RESOURCES, connect, finished

from client.core import message_with_files

with connect() as gateway:
    image = gateway.files.upload(RESOURCES / "checkerboard.png")
    print(f"uploaded {image['filename']} as {image['id']}")
    job = gateway.respond(message_with_files("Describe this picture.", [image]))
    print(finished(job).output_text)
