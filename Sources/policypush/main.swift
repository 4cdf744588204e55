print("policypush")
