"""The multi-user chat flow: two users chat in their own conversations; one user's
conversations are listed by status; a conversation is closed, a message to it is refused
(409), and its history is read. Needs a service token (it acts for two users)."""

from __future__ import annotations

from _gateway import connect, finished

from client import ConversationClosed

with connect("alice") as alice, connect("bob") as bob:
    alice_job = finished(alice.chat("Hello! My name is Alice."))
    bob_job = finished(bob.chat("Hi there, my name is Bob."))
    conversation = alice_job.conversation_id or ""
    print(f"alice: {alice_job.output_text}")
    print(f"bob: {bob_job.output_text}")
    finished(alice.chat("What is my name?", conversation_id=conversation))

    active = [c["id"] for c in alice.conversations.list(status="active")]
    print(
        f"alice's active conversations: {len(active)} (includes {conversation}: "
        f"{conversation in active})"
    )

    closed = alice.conversations.close(conversation)
    print(f"closed {closed['id']}: status {closed['status']}")
    try:
        alice.chat("Are you still there?", conversation_id=conversation)
    except ConversationClosed as refused:
        print(f"after close: {refused.status} {refused.code}")

    closed_list = [c["id"] for c in alice.conversations.list(status="closed")]
    print(f"alice's closed conversations include it: {conversation in closed_list}")
    print("history:")
    for response in alice.conversations.history(conversation):
        print(f"  {response['id']}: {response['output_text']}")
