"""The site's URLs plus one view that fails, to see the 500 page as production serves it."""

from django.urls import path

from config.urls import urlpatterns as site_urlpatterns


def fail(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("fail/", fail), *site_urlpatterns]
