"""What every HTTP surface (the API routes and fast paths, the widget's routes, the wizard, the console) shares
about requests and responses: who the client is (``client.py``), reading a request (``request.py``), writing answers,
error bodies, CORS headers and cookies (``responses.py``), and the Jinja2 templates (``templates.py``). No Valkey,
no access decisions (``auth/``)."""
