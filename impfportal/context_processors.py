from django.conf import settings
from django.urls import translate_url
from django.utils.translation import get_language


def language_links(request):
    """The current page in every language, as plain links: /… is German, /en/… English.

    Links instead of a POST form keep pages free of CSRF cookies, so the same German or
    English page can be cached for everyone.
    """
    current = get_language()
    path = request.get_full_path()
    return {
        "language_links": [
            {"code": code, "name": name, "url": translate_url(path, code), "current": code == current}
            for code, name in settings.LANGUAGES
        ]
    }
