"""Local image upload: a picture from disk is uploaded to the gateway, then described."""

from __future__ import annotations

from _gateway import RESOURCES, connect, finished

with connect() as gateway:
    image = gateway.files.upload(RESOURCES / "checkerboard.png")
    print(f"uploaded {image['filename']} as {image['id']}")
    job = gateway.respond(
        [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Describe this picture."},
                    {"type": "input_image", "file_id": image["id"]},
                ],
            }
        ]
    )
    print(finished(job).output_text)
