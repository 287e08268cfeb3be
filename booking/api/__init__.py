"""The hotline API's booking endpoints (views.py), their request and answer shapes
(serializers.py) and URLs (urls.py), mounted under /api/v1/ by impfportal/api/urls.py."""
