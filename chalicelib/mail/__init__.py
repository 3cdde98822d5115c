"""Email, pure: parse raw RFC 822 mail (Japanese charsets included), turn HTML into text,
split quoted history and signatures, classify auto-replies and bounces, recognise
mobile-carrier addresses, build outbound MIME and read SES feedback notifications.

Nothing here imports an AWS library: the channel plugin, the services and the
jobs do the I/O and call these functions.
"""
