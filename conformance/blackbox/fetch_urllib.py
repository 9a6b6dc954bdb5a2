# The HTTPS client most Python programs use: urllib over the ssl module,
# verifying against a CA file. Prints the body; a raised error exits 1.
import ssl
import sys
import urllib.request

url, cafile = sys.argv[1], sys.argv[2]
context = ssl.create_default_context(cafile=cafile)
with urllib.request.urlopen(url, context=context, timeout=15) as response:
    sys.stdout.buffer.write(response.read())
