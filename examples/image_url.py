"""Image by URL: the model describes an image it is given as a web address."""

from __future__ import annotations

from _gateway import connect, finished

IMAGE_URL = "https://upload.wikimedia.org/wikipedia/commons/3/3b/Cat_on_laptop_-_Just_Browsing.jpg"

with connect() as gateway:
    job = gateway.respond(
        [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is in this image?"},
                    {"type": "input_image", "image_url": IMAGE_URL},
                ],
            }
        ]
    )
    print(finished(job).output_text)
