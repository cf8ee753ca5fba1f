"""Demo links that are not URLs at all, each a different way a parser refuses one (issue: 500s)."""

NOT_URLS = [
    "http://[::1",  # an IPv6 bracket never closed
    f"http://{'a' * 64}.com/",  # a label over 63 characters
    "http://a..b/",  # an empty label
    "http://./",  # no name at all
    "http://a\u2100b.com/",  # a name IDNA refuses
    "http://1.1.1.1/a\x01b",  # a control character
    "https://1.1.1.1:0x50/",  # a port that is not a number
    "http://1.1.1.1:99999/",  # a port out of range
]
