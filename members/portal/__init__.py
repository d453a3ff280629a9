"""The member portal: the customers' pages at /portal/ (server-rendered, German and English, phone first).

A face like the API and the admin: views parse, call the services and selectors the API uses, and render.
Members sign in with a one-time link by mail (signin.py); they are not Django users and never reach the admin."""
