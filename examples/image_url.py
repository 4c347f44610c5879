"""Image by URL: the model describes an image it is given as a web address."""

from __future__ import annotations

from _gateway import connect, finished, with_attachment

IMAGE_URL = "https://upload.wikimedia.org/wikipedia/commons/3/3b/Cat_on_laptop_-_Just_Browsing.jpg"

with connect() as gateway:
    image = {"type": "input_image", "image_url": IMAGE_URL}
    job = finished(gateway.respond(with_attachment("What is in this image?", image)))
    print(job.output_text)
