# The hello-world WSGI app for Gunicorn's own rows: the same bytes and headers as apps/hello.js.
BODY = b"Hello, world!\n"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
