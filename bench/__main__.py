"""``.venv/bin/python -m bench [--small]``: the city-scale benchmark (bench/city_scale.py)."""

from bench.city_scale import main

if __name__ == "__main__":
    main()
