"""The FreeSWITCH driver: outbound Event Socket on gevent, unicast UDP audio, native-bridge transfer.

    wire       Event Socket framing and commands, sans I/O
    esl        one connection: commands matched to replies, events queued
    channel    the caller's channel: CHANNEL_DATA, applications, DTMF, hang-up
    unicast    caller audio in and bot audio out over UDP (L16), re-armed when it stops
    driver     GreenCallSession: the call core's commands executed on greenlets
    transfer   bridge / uuid_transfer to the Playbook's targets
    worker     the server: one greenlet per call, from connect to the disconnect notice

Runs only in its own gevent process (`callticket serve-esl`).
"""
